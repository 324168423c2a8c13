"""vp-stats: psychometric item validation and LLM value assessment.

Implements three published systems on one tidy data model:
Value Portrait (item validation and LLM value profiles), HVAE (Social Value
Orientation and value rationality) and Value Compass (pluralistic alignment
composites). See the README and ``notebooks/`` for a tour.
"""

__version__ = "0.1.0"
