"""bench/supervision: the supervisors' overview (监督) of a county against that of a township of three villages."""
