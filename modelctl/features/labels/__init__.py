"""Label types: one class per type (binary, categorical, multi_label, regression), see `base.LabelType`.

    from modelctl.features import label_type

    encoder = label_type("binary")(item)      # item: the label's `Columns`
    encoder.encode(values, numbers)           # float32 0/1 targets
"""
