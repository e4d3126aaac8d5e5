/* i8042 keyboard controller and PS/2 keyboard. Command numbers and bit names follow the IBM PC/AT
 * technical reference as used by Linux drivers/input/serio/i8042.h, arch/x86/kernel/reboot.c and
 * (keyboard commands, answers, scancodes) drivers/input/keyboard/atkbd.c. */
#include "devices/x86/i8042.h"

#include <errno.h>
#include <string.h>

#include "base/layout.h"
#include "base/log.h"

/* Status register bits. */
#define STR_OBF	     0x01 /* output buffer full: port 0x60 has a byte */
#define STR_IBF	     0x02 /* input buffer full: never, we consume writes at once */
#define STR_SYS	     0x04 /* system flag: self-test passed */
#define STR_CMDDAT   0x08 /* last write was to port 0x64 */
#define STR_UNLOCKED 0x10 /* keyboard not inhibited (Linux warns "Keylock active" otherwise) */

/* Command byte bits. */
#define CTR_KBDINT 0x01
#define CTR_SYS	   0x04
#define CTR_KBDDIS 0x10
#define CTR_AUXDIS 0x20
#define CTR_XLATE  0x40

/* Controller commands (port 0x64). */
#define CMD_READ_CTR	  0x20
#define CMD_WRITE_CTR	  0x60
#define CMD_AUX_DISABLE	  0xa7
#define CMD_AUX_ENABLE	  0xa8
#define CMD_AUX_TEST	  0xa9
#define CMD_SELF_TEST	  0xaa
#define CMD_KBD_TEST	  0xab
#define CMD_KBD_DISABLE	  0xad
#define CMD_KBD_ENABLE	  0xae
#define CMD_READ_OUTPORT  0xd0
#define CMD_WRITE_OUTPORT 0xd1
#define CMD_WRITE_KBD_OUT 0xd2
#define CMD_WRITE_AUX_OUT 0xd3
#define CMD_PULSE_FIRST	  0xf0 /* 0xf0-0xff pulse output port bits 0-3 low for each 0 bit */

#define OUTPORT_RESET 0x01 /* 1 = CPU reset line inactive */
#define OUTPORT_A20   0x02

#define PORT_B_OUT2    0x20 /* PIT channel 2 output */
#define PORT_B_REFRESH 0x10 /* toggles with DRAM refresh */

/* Keyboard commands (written to port 0x60 with no controller command pending) and answers. */
#define KBD_CMD_SET_LEDS  0xed
#define KBD_CMD_ECHO	  0xee
#define KBD_CMD_SCANSET	  0xf0
#define KBD_CMD_GET_ID	  0xf2
#define KBD_CMD_TYPEMATIC 0xf3
#define KBD_CMD_ENABLE	  0xf4
#define KBD_CMD_RESET_DIS 0xf5
#define KBD_CMD_DEFAULTS  0xf6
#define KBD_CMD_RESET	  0xff
#define KBD_ACK		  0xfa
#define KBD_BAT_OK	  0xaa /* basic assurance test passed, after reset */
#define KBD_ID0		  0xab /* MF2 keyboard ID: 0xab 0x83, translated 0xab 0x41 */
#define KBD_ID1		  0x83
#define KBD_ID1_XLATED	  0x41
#define KBD_BREAK	  0xf0 /* sets 2 and 3: the next code is a release */
#define KBD_EXTENDED	  0xe0
#define SET1_BREAK	  0x80 /* set 1: a release is the make code with bit 7 set */

/* ---- the IRQ line and the output buffer ---- */

static void update_irq(struct i8042 *k)
{
	int level = (k->status & STR_OBF) && (k->ctr & CTR_KBDINT);

	if (level != k->irq_level) {
		k->irq_level = level;
		irq_line_set(&k->irq, level);
	}
}

static uint8_t fifo_pop(struct i8042 *k)
{
	uint8_t b = k->fifo[k->fifo_head];

	k->fifo_head = (k->fifo_head + 1) % I8042_FIFO_SIZE;
	k->fifo_count--;
	return b;
}

static bool fifo_push(struct i8042 *k, uint8_t b)
{
	if (k->fifo_count == I8042_FIFO_SIZE)
		return false;
	k->fifo[(k->fifo_head + k->fifo_count) % I8042_FIFO_SIZE] = b;
	k->fifo_count++;
	return true;
}

/* A keyboard byte for the guest; what the guest triggers at will must not grow without bound. */
static void kbd_queue(struct i8042 *k, uint8_t b)
{
	if (!fifo_push(k, b))
		log_guest_warn("i8042: keyboard FIFO full, dropped 0x%02x", b);
}

/* Moves the oldest keyboard byte into an empty output buffer while the interface is enabled. */
static void refill(struct i8042 *k)
{
	if ((k->status & STR_OBF) || !k->fifo_count || (k->ctr & CTR_KBDDIS))
		return;
	k->out = fifo_pop(k);
	k->out_from_kbd = true;
	k->status |= STR_OBF;
}

/* A controller answer takes the output buffer; a keyboard byte it displaces goes back to the
 * head of the FIFO instead of being lost. */
static void set_output(struct i8042 *k, uint8_t byte)
{
	if ((k->status & STR_OBF) && k->out_from_kbd && k->fifo_count < I8042_FIFO_SIZE) {
		k->fifo_head = (k->fifo_head + I8042_FIFO_SIZE - 1) % I8042_FIFO_SIZE;
		k->fifo[k->fifo_head] = k->out;
		k->fifo_count++;
	}
	k->out = byte;
	k->out_from_kbd = false;
	k->status |= STR_OBF;
}

/* ---- the keyboard ---- */

static bool translating(const struct i8042 *k)
{
	return k->ctr & CTR_XLATE;
}

static void kbd_defaults(struct i8042 *k)
{
	k->kbd_set = 2;
	k->kbd_pending = 0;
}

/* A reset drops what the keyboard had not sent yet (the answers to earlier commands included:
 * a driver waits for each answer before its next command). */
static void kbd_flush(struct i8042 *k)
{
	k->fifo_head = k->fifo_count = 0;
}

/* The scancode-set number as the guest reads it: translated like any set-2 byte when XLATE. */
static uint8_t scanset_answer(const struct i8042 *k)
{
	static const uint8_t xlated[4] = {0, 0x43, 0x41, 0x3f};

	return translating(k) ? xlated[k->kbd_set] : k->kbd_set;
}

/* The data byte of a two-byte keyboard command. */
static void kbd_command_data(struct i8042 *k, uint8_t cmd, uint8_t val)
{
	kbd_queue(k, KBD_ACK);
	if (cmd != KBD_CMD_SCANSET)
		return; /* LEDs and typematic rate: nothing to show */
	if (val == 0)
		kbd_queue(k, scanset_answer(k));
	else if (val <= 3)
		k->kbd_set = val;
}

static void kbd_write(struct i8042 *k, uint8_t val)
{
	uint8_t pending = k->kbd_pending;

	k->kbd_pending = 0;
	if (pending) {
		kbd_command_data(k, pending, val);
		return;
	}
	switch (val) {
	case KBD_CMD_RESET:
		kbd_flush(k);
		kbd_defaults(k);
		k->kbd_scanning = true;
		kbd_queue(k, KBD_ACK);
		kbd_queue(k, KBD_BAT_OK);
		break;
	case KBD_CMD_GET_ID:
		kbd_queue(k, KBD_ACK);
		kbd_queue(k, KBD_ID0);
		kbd_queue(k, translating(k) ? KBD_ID1_XLATED : KBD_ID1);
		break;
	case KBD_CMD_SET_LEDS:
	case KBD_CMD_TYPEMATIC:
	case KBD_CMD_SCANSET:
		kbd_queue(k, KBD_ACK);
		k->kbd_pending = val;
		break;
	case KBD_CMD_ENABLE:
		k->kbd_scanning = true;
		kbd_queue(k, KBD_ACK);
		break;
	case KBD_CMD_RESET_DIS:
		kbd_defaults(k);
		k->kbd_scanning = false;
		kbd_queue(k, KBD_ACK);
		break;
	case KBD_CMD_DEFAULTS:
		kbd_defaults(k);
		kbd_queue(k, KBD_ACK);
		break;
	case KBD_CMD_ECHO:
		kbd_queue(k, KBD_CMD_ECHO);
		break;
	default:
		kbd_queue(k, KBD_ACK); /* 0xf7-0xfd (set 3 key types), 0xe8-0xec, ...: accepted */
		break;
	}
}

static void request_reset(struct i8042 *k)
{
	log_info("i8042: guest pulsed the CPU reset line");
	vm_control_stop(k->vm, VM_STOP_RESET, VMM_EXIT_OK);
}

/* Data byte that completes a two-byte command (0x60, 0xd1, 0xd2, 0xd3). */
static void command_data(struct i8042 *k, uint8_t cmd, uint8_t val)
{
	switch (cmd) {
	case CMD_WRITE_CTR:
		k->ctr = val;
		k->status = (k->status & ~STR_SYS) | (val & CTR_SYS ? STR_SYS : 0);
		break;
	case CMD_WRITE_OUTPORT:
		k->outport = val;
		if (!(val & OUTPORT_RESET))
			request_reset(k);
		break;
	case CMD_WRITE_KBD_OUT:
		set_output(k, val);
		k->out_from_kbd = true;
		break;
	case CMD_WRITE_AUX_OUT:
		/* No AUX port: loop the byte back as keyboard data (status AUXDATA clear), which
		 * Linux's i8042_check_aux reads as "no AUX" at once instead of timing out. */
		set_output(k, val);
		break;
	}
}

static void command(struct i8042 *k, uint8_t cmd)
{
	switch (cmd) {
	case CMD_READ_CTR:
		set_output(k, k->ctr);
		break;
	case CMD_WRITE_CTR:
	case CMD_WRITE_OUTPORT:
	case CMD_WRITE_KBD_OUT:
	case CMD_WRITE_AUX_OUT:
		k->pending_cmd = cmd;
		break;
	case CMD_AUX_DISABLE:
		k->ctr |= CTR_AUXDIS;
		break;
	case CMD_AUX_ENABLE:
		k->ctr &= ~CTR_AUXDIS;
		break;
	case CMD_AUX_TEST:
		set_output(k, 0x02); /* "clock line stuck high": there is no AUX port */
		break;
	case CMD_SELF_TEST:
		k->status |= STR_SYS;
		set_output(k, 0x55);
		break;
	case CMD_KBD_TEST:
		set_output(k, 0x00);
		break;
	case CMD_KBD_DISABLE:
		k->ctr |= CTR_KBDDIS;
		break;
	case CMD_KBD_ENABLE:
		k->ctr &= ~CTR_KBDDIS;
		break;
	case CMD_READ_OUTPORT:
		set_output(k, k->outport);
		break;
	default:
		/* 0xf0-0xff: bits 0-3 clear are pulsed low; bit 0 is the CPU reset (0xfe). */
		if (cmd >= CMD_PULSE_FIRST && !(cmd & OUTPORT_RESET))
			request_reset(k);
		else if (cmd < CMD_PULSE_FIRST)
			log_debug("i8042: ignored command 0x%02x", cmd);
		break;
	}
}

static uint8_t read_port_b(struct i8042 *k)
{
	k->refresh_toggle = !k->refresh_toggle;
	return (k->port_b & 0x0f) | PORT_B_OUT2 | (k->refresh_toggle ? PORT_B_REFRESH : 0);
}

uint8_t i8042_read_port(struct i8042 *k, uint16_t port)
{
	uint8_t val = 0xff;

	pthread_mutex_lock(&k->lock);
	if (port == PORT_I8042_DATA) {
		/* Nothing buffered reads as 0 (documented choice; hardware repeats the last byte).
		 * The read lowers IRQ 1; the next keyboard byte raises it again: a new edge. */
		val = (k->status & STR_OBF) ? k->out : 0;
		k->status &= ~STR_OBF;
		update_irq(k);
		refill(k);
		update_irq(k);
	} else if (port == PORT_I8042_CMD) {
		val = k->status;
	} else if (port == PORT_SYSTEM_CONTROL_B) {
		val = read_port_b(k);
	}
	pthread_mutex_unlock(&k->lock);
	return val;
}

void i8042_write_port(struct i8042 *k, uint16_t port, uint8_t val)
{
	pthread_mutex_lock(&k->lock);
	if (port == PORT_I8042_CMD) {
		k->status |= STR_CMDDAT;
		k->pending_cmd = 0;
		command(k, val);
	} else if (port == PORT_I8042_DATA) {
		uint8_t cmd = k->pending_cmd;

		k->status &= ~STR_CMDDAT;
		k->pending_cmd = 0;
		if (cmd)
			command_data(k, cmd, val);
		else
			kbd_write(k, val);
	} else if (port == PORT_SYSTEM_CONTROL_B) {
		k->port_b = val & 0x0f;
	}
	refill(k); /* a keyboard answer, or KBDDIS cleared */
	update_irq(k);
	pthread_mutex_unlock(&k->lock);
}

/* Each claimed range is one port, so each has its own ops table to know which. Wider accesses
 * touch only that port's byte; the rest of a wider read is all-ones, as from an empty bus. */
static void read_one(struct i8042 *k, uint16_t port, void *data, uint32_t len)
{
	uint8_t *out = data;

	memset(out, 0xff, len);
	out[0] = i8042_read_port(k, port);
}

static void data_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	(void)offset;
	read_one(opaque, PORT_I8042_DATA, data, len);
}

static void data_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	(void)offset;
	(void)len;
	i8042_write_port(opaque, PORT_I8042_DATA, *(const uint8_t *)data);
}

static void cmd_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	(void)offset;
	read_one(opaque, PORT_I8042_CMD, data, len);
}

static void cmd_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	(void)offset;
	(void)len;
	i8042_write_port(opaque, PORT_I8042_CMD, *(const uint8_t *)data);
}

static void port_b_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	(void)offset;
	read_one(opaque, PORT_SYSTEM_CONTROL_B, data, len);
}

static void port_b_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	(void)offset;
	(void)len;
	i8042_write_port(opaque, PORT_SYSTEM_CONTROL_B, *(const uint8_t *)data);
}

static const struct io_ops data_ops = {.read = data_read, .write = data_write};
static const struct io_ops cmd_ops = {.read = cmd_read, .write = cmd_write};
static const struct io_ops port_b_ops = {.read = port_b_read, .write = port_b_write};

int i8042_init(struct i8042 *k, const struct vm_control *vm, unsigned flags)
{
	int err;

	memset(k, 0, sizeof(*k));
	err = pthread_mutex_init(&k->lock, NULL);
	if (err)
		return -err;
	k->vm = vm;
	k->flags = flags;
	/* As after a BIOS POST: self-test passed, keyboard interface on, no AUX. */
	k->status = STR_SYS | STR_UNLOCKED;
	k->ctr = CTR_KBDINT | CTR_SYS | CTR_AUXDIS | CTR_XLATE;
	k->outport = OUTPORT_RESET | OUTPORT_A20;
	kbd_defaults(k);
	k->kbd_scanning = true;
	return 0;
}

void i8042_set_irq(struct i8042 *k, struct irq_line irq)
{
	pthread_mutex_lock(&k->lock);
	k->irq = irq;
	k->irq_level = 0;
	update_irq(k);
	pthread_mutex_unlock(&k->lock);
}

/* Ctrl-Alt-Del as make codes then break codes, Delete being an extended (0xe0) key. Set 1 (also
 * what a translating controller delivers for set 2): release = make | 0x80. Sets 2 and 3:
 * release = 0xf0 before the make code (after 0xe0 for an extended key). */
static size_t ctrl_alt_del_codes(const struct i8042 *k, uint8_t *buf)
{
	static const uint8_t set1[] = {0x1d,
				       0x38,
				       KBD_EXTENDED,
				       0x53,
				       KBD_EXTENDED,
				       0x53 | SET1_BREAK,
				       0x38 | SET1_BREAK,
				       0x1d | SET1_BREAK};
	static const uint8_t set2[] = {0x14,	     0x11,	KBD_EXTENDED, 0x71,
				       KBD_EXTENDED, KBD_BREAK, 0x71,	      KBD_BREAK,
				       0x11,	     KBD_BREAK, 0x14};
	static const uint8_t set3[] = {0x11,	  0x19, 0x64,	   KBD_BREAK, 0x64,
				       KBD_BREAK, 0x19, KBD_BREAK, 0x11};
	const uint8_t *codes = set1;
	size_t n = sizeof(set1);

	if (!translating(k) && k->kbd_set == 2) {
		codes = set2;
		n = sizeof(set2);
	} else if (!translating(k) && k->kbd_set == 3) {
		codes = set3;
		n = sizeof(set3);
	}
	memcpy(buf, codes, n);
	return n;
}

int i8042_press_ctrl_alt_del(struct i8042 *k)
{
	uint8_t codes[16];
	int err = 0;

	pthread_mutex_lock(&k->lock);
	size_t n = ctrl_alt_del_codes(k, codes);
	if (!k->kbd_scanning) {
		err = -EAGAIN;
	} else if (I8042_FIFO_SIZE - k->fifo_count < n) {
		err = -ENOSPC;
	} else {
		for (size_t i = 0; i < n; i++)
			fifo_push(k, codes[i]);
		refill(k);
		update_irq(k);
	}
	pthread_mutex_unlock(&k->lock);
	return err;
}

void i8042_save(struct i8042 *k, struct i8042_state *s)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_lock(&k->lock);
	s->status = k->status;
	s->ctr = k->ctr;
	s->outport = k->outport;
	s->out = k->out;
	s->pending_cmd = k->pending_cmd;
	s->port_b = k->port_b;
	s->refresh_toggle = k->refresh_toggle;
	s->out_from_kbd = k->out_from_kbd;
	memcpy(s->fifo, k->fifo, sizeof(s->fifo));
	s->fifo_head = (uint8_t)k->fifo_head;
	s->fifo_count = (uint8_t)k->fifo_count;
	s->kbd_pending = k->kbd_pending;
	s->kbd_set = k->kbd_set;
	s->kbd_scanning = k->kbd_scanning;
	pthread_mutex_unlock(&k->lock);
}

static bool pending_cmd_ok(uint8_t c)
{
	return c == 0 || c == CMD_WRITE_CTR || c == CMD_WRITE_OUTPORT || c == CMD_WRITE_KBD_OUT ||
	       c == CMD_WRITE_AUX_OUT;
}

static bool kbd_pending_ok(uint8_t c)
{
	return c == 0 || c == KBD_CMD_SET_LEDS || c == KBD_CMD_SCANSET || c == KBD_CMD_TYPEMATIC;
}

static bool state_ok(const struct i8042_state *s)
{
	const uint8_t status_bits = STR_OBF | STR_SYS | STR_CMDDAT | STR_UNLOCKED;

	return !(s->status & ~status_bits) && pending_cmd_ok(s->pending_cmd) &&
	       kbd_pending_ok(s->kbd_pending) && s->kbd_set >= 1 && s->kbd_set <= 3 &&
	       s->fifo_head < I8042_FIFO_SIZE && s->fifo_count <= I8042_FIFO_SIZE &&
	       !(s->port_b & ~0x0f) && s->refresh_toggle <= 1 && s->out_from_kbd <= 1 &&
	       s->kbd_scanning <= 1 && !s->reserved[0] && !s->reserved[1] && !s->reserved[2];
}

int i8042_restore(struct i8042 *k, const struct i8042_state *s)
{
	if (!state_ok(s))
		return -EINVAL;
	pthread_mutex_lock(&k->lock);
	k->status = s->status;
	k->ctr = s->ctr;
	k->outport = s->outport;
	k->out = s->out;
	k->pending_cmd = s->pending_cmd;
	k->port_b = s->port_b;
	k->refresh_toggle = s->refresh_toggle;
	k->out_from_kbd = s->out_from_kbd;
	memcpy(k->fifo, s->fifo, sizeof(k->fifo));
	k->fifo_head = s->fifo_head;
	k->fifo_count = s->fifo_count;
	k->kbd_pending = s->kbd_pending;
	k->kbd_set = s->kbd_set;
	k->kbd_scanning = s->kbd_scanning;
	k->irq_level = -1; /* drive the line whatever the fresh controller drove */
	update_irq(k);
	pthread_mutex_unlock(&k->lock);
	return 0;
}

int i8042_attach(struct i8042 *k, struct io_bus *pio, const struct vm_control *vm, unsigned flags)
{
	int err = i8042_init(k, vm, flags);

	if (err)
		return err;
	err = io_bus_register(pio, PORT_I8042_DATA, 1, &data_ops, k, "i8042-data");
	if (err)
		goto fail;
	err = io_bus_register(pio, PORT_I8042_CMD, 1, &cmd_ops, k, "i8042-cmd");
	if (err)
		goto fail_data;
	if (flags & I8042_PORT_B) {
		err = io_bus_register(pio, PORT_SYSTEM_CONTROL_B, 1, &port_b_ops, k, "port-b");
		if (err)
			goto fail_cmd;
	}
	return 0;

fail_cmd:
	io_bus_unregister(pio, PORT_I8042_CMD);
fail_data:
	io_bus_unregister(pio, PORT_I8042_DATA);
fail:
	log_error("i8042: cannot claim its ports: %s", strerror(-err));
	pthread_mutex_destroy(&k->lock);
	return err;
}

void i8042_detach(struct i8042 *k, struct io_bus *pio)
{
	if (pio) {
		io_bus_unregister(pio, PORT_I8042_DATA);
		io_bus_unregister(pio, PORT_I8042_CMD);
		if (k->flags & I8042_PORT_B)
			io_bus_unregister(pio, PORT_SYSTEM_CONTROL_B);
	}
	pthread_mutex_destroy(&k->lock);
}
