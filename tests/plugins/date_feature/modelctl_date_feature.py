"""A modelctl feature type: a calendar date such as 2026-03-01, given to the model as its day of the year / 366."""

import datetime

import numpy as np

from modelctl.errors import DataError
from modelctl.features.base import FeatureType, Fit, InputSpec, one_column
from modelctl.registry import args
from modelctl.registry.base import Entry


class DateFeature(FeatureType):
    name = "date"
    description = "A calendar date, as its day of the year."

    def schema(self):
        return {"format": args.string("How dates are written, as for `datetime.strptime`.", "%Y-%m-%d")}

    def fitter(self, item):
        return Fit(item, lambda item: {"type": "date", "column": item.columns[0],
                                       "format": item.options.get("format", "%Y-%m-%d")})

    def encode(self, item, feature, batch, *, numbers, on_bad_rows, skipped):
        written = feature.get("format", "%Y-%m-%d")
        days = np.zeros((len(numbers), 1), dtype=np.float32)
        for row, value in enumerate(one_column(batch, item).tolist()):
            try:
                days[row, 0] = datetime.datetime.strptime(str(value), written).timetuple().tm_yday
            except ValueError:
                raise DataError(f"date feature '{item.name}' has value {value!r}, which is not a date written as "
                                f"{written!r}", column=item.columns[0], example=numbers[row]) from None
        return days, None

    def model_input(self, name, fitted):
        return InputSpec(name, (1,))

    def raw_shape(self, fitted):
        return (1,), "float32"

    def layers(self, name, fitted, seed=0):
        import keras

        return [keras.layers.Rescaling(1 / 366, name=f"{name}_scale")]


ENTRY = Entry("date", "modelctl_date_feature:DateFeature", DateFeature.description)
