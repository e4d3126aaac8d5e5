/* A live change the configuration could not follow. See dev_live.h. */
#include "vmm/descriptors/dev_live.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"

void live_record_warn(int r, const char *what)
{
	if (r)
		log_warn("api: %s changed, but not in the configuration a snapshot saves: %s", what,
			 strerror(-r));
}
