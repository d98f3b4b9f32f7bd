# QEMU virt (RV32) for the Make consumer: see board.cmake.
BOARD_SRCS := $(TESTS)/boards/riscv-virt/exit.c
BOARD_CFLAGS := --specs=picolibc.specs
BOARD_LDFLAGS := --specs=picolibc.specs --oslib=semihost -march=$(RISCV_LINK_MARCH) -Wl,--gc-sections \
  -Wl,--defsym=__flash=0x80000000 -Wl,--defsym=__flash_size=0x200000 \
  -Wl,--defsym=__ram=0x80200000 -Wl,--defsym=__ram_size=0x600000 -Wl,--defsym=__stack_size=0x4000
