"""The media pipeline: uploads, image and video processing, alt text and focus, profile images.

docs/MEDIA.md describes it; ``upload_media`` is the entry point for anything that receives a file.
"""
