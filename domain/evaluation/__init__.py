"""Evaluation of implemented topics (R-RES-6, L-三(九)): residents' ratings, members' reviews, the party
organisation's comment and the organiser's analysis, of the process and the result; their summary
(average, spread, comments) for convenors and supervisors. The supervisors' view (R-RES-7) is in
``domain/supervision/``."""
