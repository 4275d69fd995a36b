#!defaults
# The default configuration (examples/soho.rsc) as a whole.
