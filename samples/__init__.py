"""Realistic sample files and mail: forms, scans, photos, videos, archives, whole seasons."""
