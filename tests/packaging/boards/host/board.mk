# The host: nothing to add (pkg-config --static brings threads, dl and libm).
