"""Validators shared by several blueprints' forms."""

from __future__ import annotations

import math
from typing import Any

from wtforms.validators import ValidationError


class Finite:
    """Refuse NaN and ±inf, which `float()` accepts and NumberRange lets through."""

    def __call__(self, form: Any, field: Any) -> None:
        if field.data is not None and not math.isfinite(field.data):
            raise ValidationError("Enter a real number.")
