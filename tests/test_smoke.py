import pytest
from jurisdictions.models import Jurisdiction

@pytest.mark.django_db
def test_db():
    assert Jurisdiction.objects.count() == 0
