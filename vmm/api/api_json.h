/* The JSON body checks moved to the machine layer (vmm/machine/api_json.h), where the device
 * descriptors check their own API bodies; the API keeps including them by this name. */
#ifndef VMM_API_API_JSON_H
#define VMM_API_API_JSON_H

#include "vmm/machine/api_json.h"

#endif
