#include <criterion/criterion.h>
#include <criterion/redirect.h>

#include "vmm/cli.h"

#define ARGV(...)                                                                                  \
	(char *[])                                                                                 \
	{                                                                                          \
		"vmm", __VA_ARGS__, NULL                                                           \
	}
#define ARGC(...)	((int)(sizeof((char *[]){"vmm", __VA_ARGS__}) / sizeof(char *)))
#define PARSE(cfg, ...) cli_parse(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), cfg)

static void quiet(void)
{
	cr_redirect_stderr();
	cr_redirect_stdout();
}

Test(cli, defaults)
{
	struct vm_config c;
	cr_assert_eq(PARSE(&c, "--kernel", "k.elf"), CLI_RUN);
	cr_assert_str_eq(c.kernel, "k.elf");
	cr_assert_eq(c.mem_size, 256ULL << 20);
	cr_assert_eq(c.ncpus, 1);
	cr_assert_eq(c.console, CONSOLE_MODE_STDIO);
	cr_assert_not(c.debug_exit);
	cr_assert_str_eq(c.kvm_path, "/dev/kvm");
	cr_assert_str_eq(c.append, "");
}

Test(cli, every_option)
{
	struct vm_config c;
	cr_assert_eq(PARSE(&c, "-k", "bz", "-i", "rd", "-a", "console=ttyS0", "-m", "1G", "-c", "4",
			   "--console", "file:/tmp/out", "--debug-exit", "-v", "-v"),
		     CLI_RUN);
	cr_assert_str_eq(c.initrd, "rd");
	cr_assert_str_eq(c.append, "console=ttyS0");
	cr_assert_eq(c.mem_size, 1ULL << 30);
	cr_assert_eq(c.ncpus, 4);
	cr_assert_eq(c.console, CONSOLE_MODE_FILE);
	cr_assert_str_eq(c.console_path, "/tmp/out");
	cr_assert(c.debug_exit);
	cr_assert_eq(c.verbosity, 2);
}

Test(cli, bad_values_are_usage_errors, .init = quiet)
{
	struct vm_config c;
	cr_assert_eq(PARSE(&c, "-k", "x", "--mem", "lots"), CLI_EXIT_USAGE);
	cr_assert_eq(PARSE(&c, "-k", "x", "--mem", "1M"), CLI_EXIT_USAGE);
	cr_assert_eq(PARSE(&c, "-k", "x", "--mem", "2T"), CLI_EXIT_USAGE);
	cr_assert_eq(PARSE(&c, "-k", "x", "--mem", "4097K"), CLI_EXIT_USAGE);
	cr_assert_eq(PARSE(&c, "-k", "x", "--cpus", "0"), CLI_EXIT_USAGE);
	cr_assert_eq(PARSE(&c, "-k", "x", "--cpus", "65"), CLI_EXIT_USAGE);
	cr_assert_eq(PARSE(&c, "-k", "x", "--console", "tty"), CLI_EXIT_USAGE);
	cr_assert_eq(PARSE(&c, "-k", "x", "--console", "file:"), CLI_EXIT_USAGE);
	cr_assert_eq(PARSE(&c, "-k", "x", "--bogus"), CLI_EXIT_USAGE);
	cr_assert_eq(PARSE(&c, "-k", "x", "extra"), CLI_EXIT_USAGE);
	cr_assert_eq(PARSE(&c, "--mem", "1G"), CLI_EXIT_USAGE, "no kernel");
}

Test(cli, help_and_version_exit_ok, .init = quiet)
{
	struct vm_config c;
	cr_assert_eq(PARSE(&c, "--help"), CLI_EXIT_OK);
	cr_assert_eq(PARSE(&c, "-V"), CLI_EXIT_OK);
}

Test(cli, usage_names_every_option)
{
	char buf[8192] = {0};
	FILE *f = fmemopen(buf, sizeof(buf) - 1, "w");
	cli_usage(f);
	fclose(f);
	const char *names[] = {"--kernel",  "--initrd",	 "--append",	 "--mem",
			       "--cpus",    "--console", "--debug-exit", "--kvm",
			       "--verbose", "--quiet",	 "--help",	 "--version"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		cr_assert_not_null(strstr(buf, names[i]), "usage lacks %s", names[i]);
}

Test(cli, hugepages_and_boot_timer_flags)
{
	struct vm_config c;
	cr_assert_eq(PARSE(&c, "-k", "x"), CLI_RUN);
	cr_assert_not(c.hugepages, "off by default");
	cr_assert_eq(PARSE(&c, "-k", "x", "--hugepages", "--boot-timer"), CLI_RUN);
	cr_assert(c.hugepages);
	cr_assert(c.boot_timer);
}
