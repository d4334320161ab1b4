// The whole public API of iqdb in one include.
#pragma once

#include "iqdb/async_database.h"
#include "iqdb/config.h"
#include "iqdb/database.h"
#include "iqdb/export.h"
#include "iqdb/filter.h"
#include "iqdb/integrity.h"
#include "iqdb/simd.h"
#include "iqdb/status.h"
#include "iqdb/types.h"
#include "iqdb/version.h"
