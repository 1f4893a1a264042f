//! TODO(issue 2/4): reader
