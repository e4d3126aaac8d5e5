/* Everything an arm64 test guest needs, in one include (tests/guests/README.md, "arm64"). */
#ifndef GUEST_GUEST_H
#define GUEST_GUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../boot.h"
#include "../printf.h"
#include "../string.h"
#include "../test.h"
#include "gic.h"
#include "machine.h"
#include "platform.h"
#include "psci.h"
#include "smp.h"

#endif
