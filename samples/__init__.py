"""Realistic sample files and mail: forms, scans, photos, videos, archives, whole seasons.

Used by the tests, by `intake demo` and by `bench/season.py`; imports only `campaign` and
`programs` of ours (ffmpeg and LibreOffice are started through `programs.run`).

- `forms`: 推荐表 `.docx` in every tick style; `word97`: the same as real `.doc` (LibreOffice)
- `photos`: JPEG/PNG/GIF test pictures, demo site photos, stamped-scan PDFs, broken pictures
- `videos`: mp4 and sound-only files (ffmpeg)
- `archives`: zip as each tool writes names, 7z, RAR 4/5
- `mail`: RFC 5322 bytes by hand: submissions, forwards, bounces, winmail.dat
- `cases`: one case folder, its zip, a submission, a candidate list (`.xlsx`)
- `season` / `generate`: the demo's nine mails and writing them as `.eml` files
- `big_season`: every unit of the call, for the benchmark
"""
