// fergen/data/error_policy.hpp: what a dataset loader does with a bad row, file or frame.
#pragma once

#include <fergen/config.hpp>

FERGEN_BEGIN_NAMESPACE
namespace data {

// fail: the first problem is a fergen::error naming the file and row, and nothing is returned: a dataset
//       silently missing part of its frames would change every number computed from it.
// skip_and_report: the bad item is left out and the loader's report says which and why, with counts, for
//       when a damaged copy of a dataset is all there is and the loss is acceptable once it is known.
enum class error_policy { fail, skip_and_report };

}  // namespace data
FERGEN_END_NAMESPACE
