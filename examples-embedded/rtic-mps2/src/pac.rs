//! The few lines of a device crate RTIC needs for QEMU's mps2-an386 (an svd2rust crate
//! provides them for real chips): the interrupt numbers, the NVIC's priority bits, and the
//! interrupt part of the vector table.

/// The interrupts this firmware uses: UART0's receive line (it writes by polling), and the two CMSDK
/// timers' lines, which serve as RTIC's software-task dispatchers (the timers stay off).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u16)]
#[allow(clippy::upper_case_acronyms)]
pub enum Interrupt {
    /// UART0 received a byte.
    UART0RX = 0,
    /// CMSDK timer 0.
    TIMER0 = 8,
    /// CMSDK timer 1.
    TIMER1 = 9,
}

// SAFETY: every value is an interrupt line of the mps2-an386 NVIC.
unsafe impl cortex_m::interrupt::InterruptNumber for Interrupt {
    fn number(self) -> u16 {
        self as u16
    }
}

/// The name svd2rust crates give the interrupt enum too (RTIC looks for both).
pub use self::Interrupt as interrupt;

/// The device's peripherals: none that RTIC hands out here (the UART is used through its
/// registers in `main.rs`).
pub struct Peripherals;

impl Peripherals {
    /// The (empty) set of device peripherals.
    ///
    /// # Safety
    ///
    /// None needed: there is nothing to alias. `unsafe` because RTIC calls it so.
    pub unsafe fn steal() -> Self {
        Peripherals
    }
}

/// Priority bits of the Cortex-M4 NVIC in this image.
pub const NVIC_PRIO_BITS: u8 = 3;

extern "C" {
    fn UART0RX();
    fn TIMER0();
    fn TIMER1();
    fn DefaultHandler();
}

/// One entry of the vector table.
#[repr(C)]
#[derive(Clone, Copy)]
pub union Vector {
    handler: unsafe extern "C" fn(),
}

/// Interrupts 0..32 (cortex-m-rt places this after the exceptions).
#[link_section = ".vector_table.interrupts"]
#[no_mangle]
pub static __INTERRUPTS: [Vector; 32] = {
    let mut v = [Vector {
        handler: DefaultHandler,
    }; 32];
    v[0] = Vector { handler: UART0RX };
    v[8] = Vector { handler: TIMER0 };
    v[9] = Vector { handler: TIMER1 };
    v
};
