"""The error raised for data that cannot be read: it names the file, the row and the column.

    examples/iris/iris.csv:row 14: column 'sepal_length': 'abc' is not a number

`DataError` is defined with the other errors in `modelctl.errors` (feature
types raise it too, below the data pipeline); this module keeps the name data
code and plug-ins import it by. Rows are numbered as `modelctl.errors` says.
"""

from modelctl.errors import DataError, shown

__all__ = ["DataError", "shown"]
