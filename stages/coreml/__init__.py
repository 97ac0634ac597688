"""Core ML as a target: ML programs (.mlpackage) converted by coremltools, validated by modelferry's own
interpreter of the saved program (stages/coreml/mil), since Core ML itself runs only on macOS."""
