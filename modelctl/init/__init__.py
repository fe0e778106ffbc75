"""`modelctl init`: starting specs that validate and train as written.

    profile = read_profile(Path("iris.csv"), labels=["species"])        # what each column holds (profile.py)
    text = draft_spec(profile, Path("spec.yaml"), command="...")        # a commented spec from it (draft.py)
    folder = read_folder(Path("photos"))                # class sub-folders of images or texts (folders.py)
    write_sample("tabular-classifier", source, Path("."))  # made-up data a template trains on (samples.py)

`modelctl.cli.init` is the command; the templates themselves are `modelctl/templates/*.yaml`.

Nothing here imports TensorFlow, NumPy or pandas: `modelctl init` runs in the lint install
(`pip install modelctl` without the `train` extra). Parquet files are read with pyarrow when it
is installed.
"""
