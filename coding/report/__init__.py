"""Reports for the paper: thematic saturation (Guest, Namey & Chen 2020), the codebook's
history and the methods report (DOCX and Markdown) built from the project's own records."""
