//! TODO(issue 2/4): settings
