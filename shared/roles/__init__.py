"""Each tier's own roles over the case engine (DESIGN.md "Subgraphs").

township: intake at the governance centre, mediation outcomes, the fast track, grid reports;
county: petition bureau intake, leader-owned cases, joint-meeting decisions on competence;
province: flagged supervision, statistics reports received and assessment rankings.
Every act is one transaction; refusals are ``DomainError`` with stable codes.
"""
