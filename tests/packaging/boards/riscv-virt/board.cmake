# QEMU virt (RV32) for the CMake consumer: picolibc with semihosting stdio, its linker script
# (picolibc.ld) placed in RAM at 0x80000000, exit through the SiFive test device.
# RISCV_LINK_MARCH: GCC 12 picks picolibc's multilib from -march and does not match names
# with _zicsr, so the link step names the base ISA (rv32imac, rv32imc).
set(board_dir ${CMAKE_CURRENT_LIST_DIR})
target_sources(demo PRIVATE ${board_dir}/exit.c)
target_compile_options(demo PRIVATE --specs=picolibc.specs)
target_link_options(demo PRIVATE --specs=picolibc.specs --oslib=semihost -march=${RISCV_LINK_MARCH}
  -Wl,--gc-sections -Wl,--defsym=__flash=0x80000000 -Wl,--defsym=__flash_size=0x200000
  -Wl,--defsym=__ram=0x80200000 -Wl,--defsym=__ram_size=0x600000 -Wl,--defsym=__stack_size=0x4000)
