"""What users call: the Python predictor, article files in, output formats, and the command line."""
