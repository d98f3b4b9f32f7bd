# Board microbit for the Make consumer: startup, linker script, semihosting (newlib rdimon).
BOARD_DIR := $(TESTS)/boards/microbit
BOARD_SRCS := $(TESTS)/boards/cortex-m/startup.c
BOARD_LDFLAGS := --specs=rdimon.specs -nostartfiles -Wl,--gc-sections -T $(BOARD_DIR)/link.ld -L $(TESTS)/boards/cortex-m
BOARD_CFLAGS :=
