"""The paperwork of a consultation (R-RES-4, L-三(六), L-三(七)).

``opinions`` builds a meeting's 协商意见建议清单 from what the meeting recorded and sends it up to the
upper-level office; ``feedback`` records the handling department's 结果反馈清单 against a topic and
tells the convenors and the proposer; ``sheets`` lays either out as offices file it (title, number,
organisation and date lines, a table) in DOCX, PDF or CSV.
"""
