"""The console editor of the numbered house rules, at /console/pages/house-rules/rules.

Access checklist: anonymous -> login; without ``roles.PAGES_EDIT`` -> 403; other methods -> 405;
invalid input -> the page again with the errors (422). Writes go through
``house_rules.save_rule``; rules are retired, never deleted (decisions cite them).
"""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from copps.accounts import roles

from . import house_rules
from .models import HouseRule

LANGUAGES = list(settings.LANGUAGES)


class HouseRuleForm(forms.Form):
    number = forms.IntegerField(label=gettext_lazy("Number"), min_value=1, max_value=99)
    active = forms.BooleanField(label=gettext_lazy("In force"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for code, name in LANGUAGES:
            self.fields[f"title_{code}"] = forms.CharField(
                label=_("Title (%(language)s)") % {"language": name},
                max_length=200,
                required=False,
            )
            self.fields[f"text_{code}"] = forms.CharField(
                label=_("Explanation (%(language)s)") % {"language": name},
                max_length=1000,
                required=False,
                widget=forms.Textarea(attrs={"rows": 2}),
            )

    def clean(self):
        data = super().clean() or {}
        if not any(data.get(f"title_{code}") for code, _name in LANGUAGES):
            raise forms.ValidationError(_("Give the rule a title in at least one language."))
        return data

    def per_language(self, prefix: str) -> dict[str, str]:
        return {code: self.cleaned_data.get(f"{prefix}_{code}", "") for code, _n in LANGUAGES}

    def language_rows(self):
        return [(name, self[f"title_{code}"], self[f"text_{code}"]) for code, name in LANGUAGES]


def _number(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _initial(rule: HouseRule) -> dict:
    initial: dict = {"number": rule.number, "active": rule.active}
    for code, _name in LANGUAGES:
        initial[f"title_{code}"] = (rule.title or {}).get(code, "")
        initial[f"text_{code}"] = (rule.text or {}).get(code, "")
    return initial


@login_required
def rules(request):
    if not roles.has_capability(request.user, roles.PAGES_EDIT):
        raise PermissionDenied(roles.PAGES_EDIT)
    if request.method not in ("GET", "HEAD", "POST"):
        from django.http import HttpResponseNotAllowed

        return HttpResponseNotAllowed(["GET", "HEAD", "POST"])
    status = 200
    failed: HouseRuleForm | None = None
    if request.method == "POST":
        number = _number(request.POST.get("rule-number"))
        known = number is not None and HouseRule.objects.filter(number=number).exists()
        auto_id = f"rule{request.POST.get('rule-number')}-%s" if known else "new-%s"
        form = HouseRuleForm(request.POST, prefix="rule", auto_id=auto_id)
        if form.is_valid():
            rule = house_rules.save_rule(
                by=request.user,
                number=form.cleaned_data["number"],
                title=form.per_language("title"),
                text=form.per_language("text"),
                active=form.cleaned_data["active"],
            )
            messages.success(request, _("House rule %(n)s was saved.") % {"n": rule.number})
            return redirect("pages:house-rules")
        failed, status = form, 422
    forms_ = []
    for rule in HouseRule.objects.order_by("number"):
        if failed is not None and _number(failed.data.get("rule-number")) == rule.number:
            forms_.append(failed)
        else:
            forms_.append(
                HouseRuleForm(
                    initial=_initial(rule), prefix="rule", auto_id=f"rule{rule.number}-%s"
                )
            )
    if failed is not None and failed not in forms_:
        new = failed
    else:
        taken = HouseRule.objects.order_by("-number").values_list("number", flat=True).first()
        new = HouseRuleForm(
            initial={"number": (taken or 0) + 1, "active": True}, prefix="rule", auto_id="new-%s"
        )
    return render(
        request,
        "inbox/comments/console_rules.html",
        {"forms": forms_, "new": new, "section": "pages"},
        status=status,
    )
