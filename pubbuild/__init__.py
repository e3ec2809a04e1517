"""The stages of the publication build, one module each.

`build.py` at the project root is the command line and shows the order in
which these stages run; the modules here know nothing about argparse.
"""
