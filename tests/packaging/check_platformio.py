#!/usr/bin/env python3
"""Checks the PlatformIO side of the bundles without PlatformIO (its registry, which serves the
platforms and toolchains, is not reachable from this project's machines):

- library.json is valid JSON with the fields PlatformIO reads, its version is the bundle's, and
  build.extraScript / build.includeDir point at files in the bundle;
- platformio/extra_script.py, run as SCons runs it (Import injecting `env` and
  `pio_lib_builder`), adds the right lib/<target> directory and `ferrule` to the link for a
  set of real boards' build.cpu / build.mcu / build.march and float flags, and stops the build
  for a board it has no library for.

    python3 check_platformio.py <all-targets bundle> <one-target bundle> <version>
"""
import json
import os
import runpy
import sys

failures = []


def expect(cond, what):
    if not cond:
        failures.append(what)
        print("  FAIL:", what)


class Board:
    def __init__(self, values):
        self.values = values

    def get(self, key, default=None):
        return self.values.get(key, default)


class Exit(Exception):
    pass


class Env:
    """The part of PlatformIO's SCons construction environment the script uses."""

    def __init__(self, board, ccflags, platform, options):
        self.board = Board(board)
        self.vars = {"CCFLAGS": ccflags, "LINKFLAGS": list(ccflags), "PIOPLATFORM": platform}
        self.options = options
        self.exit_code = None

    def BoardConfig(self):
        return self.board

    def get(self, key, default=None):
        return self.vars.get(key, default)

    def Flatten(self, items):
        out = []
        for item in items:
            out.extend(self.Flatten(item) if isinstance(item, (list, tuple)) else [item])
        return out

    def GetProjectOption(self, name, default=None):
        return self.options.get(name, default)

    def Append(self, **kwargs):
        for key, value in kwargs.items():
            self.vars.setdefault(key, []).extend(value)

    def Exit(self, code):
        self.exit_code = code
        raise Exit()


class LibBuilder:
    def __init__(self, path):
        self.path = path


def run_script(bundle, env):
    def scons_import(*names):
        exported = {"env": env, "pio_lib_builder": LibBuilder(bundle)}
        frame = sys._getframe(1)
        for name in names:
            frame.f_globals[name] = exported[name]

    try:
        runpy.run_path(os.path.join(bundle, "platformio", "extra_script.py"),
                       init_globals={"Import": scons_import})
    except Exit:
        pass


# (what, board.json "build" values, C flags, platform, platformio.ini options, expected target)
BOARDS = [
    ("BBC micro:bit (nRF51822)", {"build.cpu": "cortex-m0", "build.mcu": "nrf51822"},
     ["-mcpu=cortex-m0", "-mthumb"], "nordicnrf51", {}, "thumbv6m-none-eabi"),
    ("Raspberry Pi Pico (RP2040)", {"build.cpu": "cortex-m0plus", "build.mcu": "rp2040"},
     ["-mcpu=cortex-m0plus", "-mthumb"], "raspberrypi", {}, "thumbv6m-none-eabi"),
    ("Blue Pill (STM32F103)", {"build.cpu": "cortex-m3", "build.mcu": "stm32f103c8t6"},
     ["-mcpu=cortex-m3", "-mthumb"], "ststm32", {}, "thumbv7m-none-eabi"),
    ("STM32F4 Discovery, softfp", {"build.cpu": "cortex-m4", "build.mcu": "stm32f407vgt6"},
     ["-mcpu=cortex-m4", "-mthumb", "-mfpu=fpv4-sp-d16", "-mfloat-abi=softfp"], "ststm32", {},
     "thumbv7em-none-eabi"),
    ("nRF52840 DK, hard float", {"build.cpu": "cortex-m4", "build.mcu": "nrf52840"},
     ["-mcpu=cortex-m4", "-mthumb", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard"], "nordicnrf52", {},
     "thumbv7em-none-eabihf"),
    ("STM32L552 (Cortex-M33), hard float", {"build.cpu": "cortex-m33", "build.mcu": "stm32l552ze"},
     ["-mcpu=cortex-m33", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv5-sp-d16"], "ststm32", {},
     "thumbv8m.main-none-eabihf"),
    ("ESP32-C3 DevKitM-1", {"build.mcu": "esp32c3"}, ["-march=rv32imc_zicsr_zifencei"],
     "espressif32", {}, "riscv32imc-unknown-none-elf"),
    ("ESP32-C6 DevKitC-1", {"build.mcu": "esp32c6"}, ["-march=rv32imac_zicsr_zifencei"],
     "espressif32", {}, "riscv32imac-unknown-none-elf"),
    ("SiFive HiFive1 Rev B", {"build.mcu": "fe310", "build.march": "rv32imac", "build.mabi": "ilp32"},
     [], "sifive", {}, "riscv32imac-unknown-none-elf"),
    ("override in platformio.ini", {"build.cpu": "cortex-m4"}, ["-mfloat-abi=hard"], "ststm32",
     {"custom_ferrule_target": "thumbv7em-none-eabi"}, "thumbv7em-none-eabi"),
]


def main():
    combined, single, version = sys.argv[1], sys.argv[2], sys.argv[3]
    for bundle in (combined, single):
        with open(os.path.join(bundle, "library.json")) as f:
            manifest = json.load(f)
        expect(manifest.get("name") == "ferrule", "library.json name")
        expect(manifest.get("version") == version, "library.json version %r" % manifest.get("version"))
        build = manifest.get("build", {})
        expect(os.path.isfile(os.path.join(bundle, build.get("extraScript", "-"))), "extraScript exists")
        expect(os.path.isfile(os.path.join(bundle, build.get("includeDir", "-"), "ferrule.h")),
               "includeDir holds ferrule.h")
        for header in manifest.get("headers", []):
            expect(os.path.isfile(os.path.join(bundle, "include", header)), "header %s" % header)

    targets = open(os.path.join(combined, "TARGETS")).read().split()
    for what, board, flags, platform, options, want in BOARDS:
        env = Env(board, flags, platform, options)
        run_script(combined, env)
        libpath = env.vars.get("LIBPATH", [])
        if want in targets:
            expect(env.exit_code is None, "%s: build stopped" % what)
            expect(libpath == [os.path.join(combined, "lib", want)], "%s: LIBPATH %s, want lib/%s" % (what, libpath, want))
            expect(env.vars.get("LIBS") == ["ferrule"], "%s: LIBS %s" % (what, env.vars.get("LIBS")))
            expect(all(os.path.isfile(os.path.join(p, "libferrule.a")) for p in libpath), "%s: archive" % what)
        else:
            expect(env.exit_code == 1, "%s: %s is not in the bundle, yet the build went on" % (what, want))
        print("  %-38s -> %s" % (what, os.path.relpath(libpath[0], combined) if libpath else "stopped"))

    # A Cortex-M7 with an unknown float setup and an AVR: the first is soft-float, the second has
    # no library and must stop the build.
    env = Env({"build.cpu": "cortex-m7"}, [], "ststm32", {})
    run_script(combined, env)
    expect(env.vars.get("LIBPATH") == [os.path.join(combined, "lib", "thumbv7em-none-eabi")], "M7 without flags")
    env = Env({"build.mcu": "atmega328p"}, ["-mmcu=atmega328p"], "atmelavr", {})
    run_script(combined, env)
    expect(env.exit_code == 1 and "LIBPATH" not in env.vars, "AVR must stop the build")
    print("  %-38s -> stopped (no library)" % "Arduino Uno (AVR)")

    # A one-target bundle serves its own target from lib/ and refuses others.
    target = open(os.path.join(single, "TARGETS")).read().split()[0]
    board = next(b for b in BOARDS if b[5] == target)
    env = Env(board[1], board[2], board[3], board[4])
    run_script(single, env)
    expect(env.vars.get("LIBPATH") == [os.path.join(single, "lib")], "one-target bundle: %s" % env.vars.get("LIBPATH"))
    other = next(b for b in BOARDS if b[5] != target)
    env = Env(other[1], other[2], other[3], other[4])
    run_script(single, env)
    expect(env.exit_code == 1, "one-target bundle must refuse %s" % other[5])
    print("  one-target bundle (%s): serves lib/, refuses %s" % (target, other[5]))

    if failures:
        sys.exit(1)


if __name__ == "__main__":
    main()
