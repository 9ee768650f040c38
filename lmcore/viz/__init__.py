"""Interactive figures of the book: live ipywidgets in Jupyter, self-contained HTML in the book."""
