"""What modelferry lets a model file do: the checks that run before any framework runs a graph."""
