"""A compact CTC line recogniser for Korean document text, trained on this machine's CPU.

See training/korean/README.md.
"""
