#!/usr/bin/env python3
"""Reads zephyr/Kconfig with kconfiglib (Zephyr's own Kconfig implementation), checks its
defaults and ranges, and writes a .config the way a Zephyr build would.

    python3 kconfig.py <repo-or-bundle-root> <output .config> [SYMBOL=VALUE ...]

SYMBOL=VALUE are user choices without the CONFIG_ prefix (FERRULE_WINDOW=4,
FERRULE_COMPRESSION_SHARED=y, ...). Exits non-zero on a Kconfig error or a failed check.
"""
import os
import sys

import kconfiglib


def load(root):
    os.environ.setdefault("srctree", root)
    return kconfiglib.Kconfig(os.path.join(root, "zephyr", "Kconfig"), warn_to_stderr=False)


def main():
    root, out, assignments = sys.argv[1], sys.argv[2], sys.argv[3:]
    kconf = load(root)
    failures = ["kconfig warning while parsing: " + w for w in kconf.warnings]

    def expect(cond, what):
        if not cond:
            failures.append(what)

    # Off by default; the options exist only under FERRULE.
    expect(kconf.syms["FERRULE"].str_value == "n", "FERRULE is off until chosen")
    expect(kconf.syms["FERRULE_WINDOW"].visibility == 0, "options hidden without FERRULE")
    kconf.syms["FERRULE"].set_value("y")
    defaults = {"FERRULE_WINDOW": "4", "FERRULE_MAX_MESSAGE": "128", "FERRULE_TARGET": "",
                "FERRULE_COMPRESSION_OFF": "y", "FERRULE_AEAD": "n"}
    for name, value in defaults.items():
        got = kconf.syms[name].str_value
        expect(got == value, "default %s = %r, want %r" % (name, got, value))
    # Out-of-range values never reach the build.
    for name, bad in (("FERRULE_WINDOW", "0"), ("FERRULE_WINDOW", "300"), ("FERRULE_MAX_MESSAGE", "0"), ("FERRULE_MAX_MESSAGE", "5000")):
        kconf.syms[name].set_value(bad)
        expect(kconf.syms[name].str_value != bad, "%s accepted out-of-range %s" % (name, bad))
        kconf.syms[name].unset_value()
    del kconf.warnings[:]  # the three "outside the active range" warnings just provoked
    # The compression choice is exclusive.
    kconf.syms["FERRULE_COMPRESSION_SHARED"].set_value("y")
    on = [s.name for s in kconf.choices[0].syms if s.str_value == "y"]
    expect(on == ["FERRULE_COMPRESSION_SHARED"], "compression choice: %s" % on)
    kconf.syms["FERRULE_COMPRESSION_OFF"].set_value("y")

    for item in assignments:
        name, value = item.split("=", 1)
        sym = kconf.syms[name]
        expect(sym.set_value(value) and sym.str_value == value, "cannot set %s=%s" % (name, value))
    failures.extend("kconfig warning: " + w for w in kconf.warnings)
    for f in failures:
        print("  FAIL:", f)
    if failures:
        sys.exit(1)
    kconf.write_config(out, header="")
    print("  zephyr/Kconfig: defaults, ranges and choice ok; wrote %s (%s)"
          % (os.path.basename(out), " ".join(assignments) or "defaults"))


if __name__ == "__main__":
    main()
