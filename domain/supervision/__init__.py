"""The supervisors' view (R-RES-7, X-15): what a township or county office sees of the organisations below it:
meetings held against the cadence, topics by state and age, results waiting for implementation or feedback,
residents' ratings, 六有 gaps and participation. ``scope`` decides who sees what, ``overview`` gathers the
numbers, ``text`` says them short for the chat and ``workbook`` writes them as XLSX, one sheet per section."""
