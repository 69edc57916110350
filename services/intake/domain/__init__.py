"""Intake domain: plain Python rules of the By-law Enforcement Policy for complaints."""
