"""Template tags of the admin index (issue 18): the review queue's counts."""
from django import template

register = template.Library()


@register.simple_tag
def review_counts() -> dict[str, int]:
    """``{"to_verify": n, "to_correct": n}`` (:func:`jurisdictions.review_admin.queue_counts`)."""
    from ..review_admin import queue_counts

    return queue_counts()
