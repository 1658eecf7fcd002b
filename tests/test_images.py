"""Images: metadata never reaches the public, and no upload can break the newsroom."""

import io
import struct
import zlib

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import ExifTags, Image, PngImagePlugin

from copps.audit import log as audit
from copps.newsroom import actions
from copps.newsroom.images import clean_image


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def draft(make_message, communicator):
    return make_message(communicator)


def upload(data: bytes, name: str = "photo.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="image/jpeg")


def jpeg_with_gps_and_orientation() -> bytes:
    """A 40x20 JPEG, red on the left, that says "rotate 90° clockwise" and where it was taken."""
    image = Image.new("RGB", (40, 20), "blue")
    image.paste("red", (0, 0, 20, 20))
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.Make] = "SecretCam"
    exif[ExifTags.Base.BodySerialNumber] = "SN-123456"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (51.0, 3.0, 0.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (3.0, 43.0, 0.0)
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes(), comment=b"taken at Kerkstraat 12")
    return out.getvalue()


def png_bytes(size=(30, 30), mode="RGBA", **save) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, (0, 128, 0, 255) if mode == "RGBA" else 0).save(out, "PNG", **save)
    return out.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG file that claims a huge picture: the shape of a decompression bomb."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def refused(data: bytes, name="x.jpg") -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        clean_image(upload(data, name))
    assert "image" in caught.value.message_dict
    return caught.value


# Metadata -------------------------------------------------------------------------------------


def test_the_test_photo_really_carries_gps_and_orientation():
    with Image.open(io.BytesIO(jpeg_with_gps_and_orientation())) as original:
        exif = original.getexif()
        assert exif[ExifTags.Base.Orientation] == 6
        assert exif.get_ifd(ExifTags.IFD.GPSInfo)[ExifTags.GPS.GPSLatitudeRef] == "N"


def test_add_image_strips_exif_gps_and_comments(draft, communicator):
    image = actions.add_image(
        draft,
        by=communicator,
        upload=upload(jpeg_with_gps_and_orientation()),
        alt_text="Een gestolen fiets",
    )
    stored = image.file.read()
    with Image.open(io.BytesIO(stored)) as cleaned:
        assert cleaned.format == "JPEG"
        assert dict(cleaned.getexif()) == {}
        assert cleaned.getexif().get_ifd(ExifTags.IFD.GPSInfo) == {}
        assert "exif" not in cleaned.info and "comment" not in cleaned.info
    assert b"SecretCam" not in stored and b"SN-123456" not in stored
    assert b"Kerkstraat" not in stored


def test_add_image_applies_the_orientation_so_the_picture_stands_upright(draft, communicator):
    image = actions.add_image(
        draft, by=communicator, upload=upload(jpeg_with_gps_and_orientation()), alt_text="Fiets"
    )
    assert (image.width, image.height) == (20, 40)
    with Image.open(image.file.path) as cleaned:
        assert cleaned.size == (20, 40)
        red_top = cleaned.convert("RGB").getpixel((10, 5))
        assert red_top[0] > 200 and red_top[2] < 60  # rotated clockwise: the red half is on top


def test_png_text_chunks_are_stripped():
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Agent Jan Peeters, 0470 12 34 56")
    data, ext = clean_image(upload(png_bytes(pnginfo=info), "x.png"))
    assert ext == "png"
    assert b"Peeters" not in data
    with Image.open(io.BytesIO(data)) as cleaned:
        assert "Author" not in cleaned.info


def test_a_gif_is_stored_as_a_png():
    out = io.BytesIO()
    Image.new("P", (10, 10), 3).save(out, "GIF")
    data, ext = clean_image(upload(out.getvalue(), "x.gif"))
    assert ext == "png"
    assert Image.open(io.BytesIO(data)).format == "PNG"


def test_a_very_large_picture_is_scaled_down():
    data, _ext = clean_image(upload(png_bytes(size=(5000, 100), mode="L"), "x.png"))
    assert Image.open(io.BytesIO(data)).size == (4096, 82)


def test_add_image_records_the_checksum_and_an_audit_entry(draft, communicator):
    import hashlib

    image = actions.add_image(
        draft, by=communicator, upload=upload(png_bytes(), "x.png"), alt_text="Groen vlak"
    )
    assert image.sha256 == hashlib.sha256(image.file.read()).hexdigest()
    assert audit.for_object(draft).filter(action="message.add_image", data__image=image.pk).exists()


# Refusals: always a ValidationError ------------------------------------------------------------


def test_a_file_that_is_not_an_image_is_refused():
    refused(b"%PDF-1.7 this is not a picture")
    refused(b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", "x.svg")


def test_an_empty_file_is_refused():
    refused(b"")


def test_a_truncated_image_is_refused():
    whole = jpeg_with_gps_and_orientation()
    refused(whole[: len(whole) // 2])
    refused(png_bytes(size=(200, 200), mode="RGB")[:-40], "x.png")


@pytest.mark.parametrize("cut", [8, 30, 100, 200, 400, 600])
def test_a_cut_at_any_point_is_a_validation_error_never_a_crash(cut):
    data = jpeg_with_gps_and_orientation()[:cut]
    try:
        clean_image(upload(data))
    except ValidationError:
        pass


def test_a_decompression_bomb_is_refused_without_decoding_it():
    error = refused(png_header_only(100_000, 100_000), "bomb.png")
    assert "pixels" in str(error)


def test_a_picture_over_the_pixel_limit_is_refused():
    refused(png_header_only(8000, 6000), "big.png")


def test_an_unsupported_format_is_refused():
    out = io.BytesIO()
    Image.new("RGB", (10, 10)).save(out, "BMP")
    assert "JPEG" in str(refused(out.getvalue(), "x.bmp"))


def test_a_file_over_the_size_limit_is_refused(settings):
    settings.COPPS_MAX_IMAGE_BYTES = 1_000_000
    data = png_bytes() + b"\x00" * 1_000_001
    assert "larger" in str(refused(data, "x.png"))


def test_the_size_limit_holds_even_when_the_upload_understates_its_size(settings):
    settings.COPPS_MAX_IMAGE_BYTES = 1_000_000
    lying = upload(png_bytes() + b"\x00" * 1_000_001, "x.png")
    lying.size = 10
    with pytest.raises(ValidationError):
        clean_image(lying)


def test_add_image_requires_alt_text_and_stores_nothing_without_it(draft, communicator):
    with pytest.raises(ValidationError) as caught:
        actions.add_image(
            draft, by=communicator, upload=upload(png_bytes(), "x.png"), alt_text="  "
        )
    assert "alt_text" in caught.value.message_dict
    with pytest.raises(ValidationError):
        actions.add_image(
            draft, by=communicator, upload=upload(png_bytes(), "x.png"), alt_text="x" * 301
        )
    assert draft.images.count() == 0


def test_add_image_refuses_a_non_image_without_storing_anything(draft, communicator):
    with pytest.raises(ValidationError):
        actions.add_image(draft, by=communicator, upload=upload(b"not an image"), alt_text="Fiets")
    assert draft.images.count() == 0


def test_only_someone_who_may_edit_the_draft_adds_an_image(draft, make_user):
    from django.core.exceptions import PermissionDenied

    stranger = make_user("communicator", "eve")
    with pytest.raises(PermissionDenied):
        actions.add_image(draft, by=stranger, upload=upload(png_bytes(), "x.png"), alt_text="Fiets")


# Four eyes and transactions --------------------------------------------------------------------


def test_an_editor_who_adds_an_image_to_someone_elses_draft_cannot_approve_it(
    draft, communicator, editor, second_editor
):
    actions.add_image(draft, by=editor, upload=upload(png_bytes(), "a.png"), alt_text="Een fiets")
    actions.submit_message(draft, by=communicator)
    with pytest.raises(actions.SelfApproval):
        actions.approve_message(draft, by=editor)
    actions.approve_message(draft, by=second_editor)
    assert draft.state == "published"


def test_no_image_is_added_to_a_message_submitted_meanwhile(draft, communicator):
    from copps.newsroom.models import Message, MessageImage

    stale = Message.objects.get(pk=draft.pk)
    actions.submit_message(draft, by=communicator)
    with pytest.raises(actions.Conflict):
        actions.add_image(stale, by=communicator, upload=upload(png_bytes(), "a.png"), alt_text="x")
    assert not MessageImage.objects.exists()


def test_a_removal_that_rolls_back_keeps_the_file(
    draft, communicator, django_capture_on_commit_callbacks
):
    from django.db import transaction

    image = actions.add_image(
        draft, by=communicator, upload=upload(png_bytes(), "a.png"), alt_text="Een fiets"
    )
    storage, name = image.file.storage, image.file.name
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError), transaction.atomic():
            actions.remove_image(image, by=communicator)
            raise RuntimeError("something later in the same transaction fails")
    assert storage.exists(name)
    assert draft.images.count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        actions.remove_image(draft.images.get(), by=communicator)
        assert storage.exists(name)  # not before the commit
    assert not storage.exists(name)


def test_a_stale_copy_saved_by_the_author_keeps_whoever_added_an_image_a_contributor(
    draft, communicator, editor
):
    from copps.newsroom.models import Message

    read_before = Message.objects.get(pk=draft.pk)
    actions.add_image(draft, by=editor, upload=upload(png_bytes(), "a.png"), alt_text="Een fiets")
    actions.update_message(read_before, by=communicator, signature="Sanne")
    actions.submit_message(read_before, by=communicator)
    read_before.refresh_from_db()
    assert editor.pk in read_before.contributor_ids
    with pytest.raises(actions.SelfApproval):
        actions.approve_message(read_before, by=editor)
