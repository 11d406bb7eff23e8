/* Small helpers on stored partition states shared by every user of meta/cluster.h. */
#include "meta/cluster.h"

bool rn_pstate_has(const int32_t *set, int32_t n, int32_t id)
{
	for (int32_t i = 0; i < n; i++)
		if (set[i] == id)
			return true;
	return false;
}
