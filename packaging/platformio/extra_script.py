# PlatformIO build script of the prebuilt ferrule library (library.json: build.extraScript).
#
# Picks the archive that matches the board: lib/<target>/libferrule.a in the all-targets bundle,
# lib/libferrule.a in a one-target bundle (whose TARGETS file names it), and adds it to the
# link. The target comes from, in order:
#   custom_ferrule_target = <triple>          in platformio.ini
#   the board's build.cpu (cortex-m0 ... cortex-m33) and the float ABI in the C flags
#   the board's build.mcu (esp32c3 ...) or build.march (rv32imac ...) for RISC-V
#   platform "native" on x86-64 Linux: the host library
# Runs inside SCons (Import is SCons'); tests/packaging/check_platformio.py runs it with stubs.
import os
import platform
import sys

ARM_CPUS = {
    "cortex-m0": "thumbv6m", "cortex-m0plus": "thumbv6m", "cortex-m1": "thumbv6m",
    "cortex-m23": "thumbv6m", "cortex-m3": "thumbv7m", "cortex-m4": "thumbv7em",
    "cortex-m7": "thumbv7em", "cortex-m33": "thumbv8m.main", "cortex-m35p": "thumbv8m.main",
    "cortex-m55": "thumbv8m.main",
}
RISCV_MCUS = {
    "esp32c2": "imc", "esp32c3": "imc", "esp32c5": "imac", "esp32c6": "imac",
    "esp32c61": "imac", "esp32h2": "imac",
}


def select_target(cpu, mcu, march, flags, pio_platform, override=""):
    """The Rust target triple of the archive for a board, or raise ValueError."""
    if override:
        return override
    cpu = (cpu or "").lower()
    hard = "-mfloat-abi=hard" in flags
    if cpu in ARM_CPUS:
        arch = ARM_CPUS[cpu]
        if arch == "thumbv7em":
            return "thumbv7em-none-eabihf" if hard else "thumbv7em-none-eabi"
        if arch == "thumbv8m.main":
            # v8-M Mainline runs v7-M code; the v8-M bundle is the hard-float one.
            return "thumbv8m.main-none-eabihf" if hard else "thumbv7m-none-eabi"
        return arch + "-none-eabi"
    ext = RISCV_MCUS.get((mcu or "").lower())
    if ext is None:
        for text in [march or ""] + [f[len("-march="):] for f in flags.split() if f.startswith("-march=")]:
            base = text.lower().split("_")[0]
            if base.startswith("rv32") and "m" in base[4:] and "c" in base[4:] \
                    and "f" not in base[4:] and "d" not in base[4:]:
                ext = "imac" if "a" in base[4:] else "imc"
                break
    if ext:
        return "riscv32%s-unknown-none-elf" % ext
    if pio_platform == "native" and sys.platform.startswith("linux") \
            and platform.machine() in ("x86_64", "AMD64"):
        return "x86_64-unknown-linux-gnu"
    raise ValueError("no prebuilt ferrule library for cpu=%r mcu=%r march=%r; set "
                     "custom_ferrule_target in platformio.ini" % (cpu, mcu, march))


def library_dir(root, target):
    """The directory holding libferrule.a for `target` in the bundle at `root`."""
    per_target = os.path.join(root, "lib", target)
    if os.path.isfile(os.path.join(per_target, "libferrule.a")):
        return per_target
    targets_file = os.path.join(root, "TARGETS")
    targets = open(targets_file).read().split() if os.path.isfile(targets_file) else []
    if targets == [target] and os.path.isfile(os.path.join(root, "lib", "libferrule.a")):
        return os.path.join(root, "lib")
    raise ValueError("this ferrule bundle has no library for %s (it has: %s)"
                     % (target, " ".join(targets) or "none"))


def configure(env, root):
    board = env.BoardConfig()
    flags = " ".join(str(f) for f in env.Flatten(
        [env.get("CCFLAGS", []), env.get("CFLAGS", []), env.get("LINKFLAGS", [])]))
    target = select_target(board.get("build.cpu", ""), board.get("build.mcu", ""),
                           board.get("build.march", ""), flags, env.get("PIOPLATFORM", ""),
                           env.GetProjectOption("custom_ferrule_target", ""))
    libs = ["ferrule"]
    if target.endswith("linux-gnu"):
        libs += ["pthread", "dl", "m"]
    env.Append(LIBPATH=[library_dir(root, target)], LIBS=libs, CPPDEFINES=[("FERRULE_HAS_AEAD", 1)])
    return target


if "Import" in globals():
    Import("env", "pio_lib_builder")  # noqa: F821 (SCons)
    try:
        configure(env, pio_lib_builder.path)  # noqa: F821
    except ValueError as err:
        sys.stderr.write("ferrule: %s\n" % err)
        env.Exit(1)  # noqa: F821
