# The host: nothing to add (ferrule::ferrule brings threads, dl and libm for the static archive).
