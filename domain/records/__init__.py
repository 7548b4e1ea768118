"""Records kept for review and supervision: each person's participation (R-ORG-6), the platforms and their
convenors and liaising CPPCC members (R-ORG-2, R-ORG-3, L-四(二)), and each room's 六有 (R-ORG-7).

``participation`` counts what meetings, topics and polls recorded (never how anyone voted), ``terms`` keeps
council entry/exit and training, ``export`` writes one member's record (XLSX, DOCX), ``platforms`` the
platforms, ``six_have`` the 六有 record, ``overview`` the lines ``shangliang org show`` prints.
"""
