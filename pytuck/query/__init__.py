"""The query layer: expression tree, statements, functions, results and the Query façade."""
