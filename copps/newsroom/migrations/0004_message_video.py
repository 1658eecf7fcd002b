from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("newsroom", "0003_correction"),
    ]

    operations = [
        migrations.AddField(
            model_name="message",
            name="video",
            field=models.FileField(
                blank=True, max_length=200, upload_to="videos/", verbose_name="video"
            ),
        ),
        migrations.AddField(
            model_name="message",
            name="video_caption",
            field=models.TextField(blank=True, verbose_name="video description"),
        ),
    ]
