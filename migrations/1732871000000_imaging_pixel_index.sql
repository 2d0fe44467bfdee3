-- Up Migration
-- Where each frame's bytes lie in an uploaded file (PixelIndex in server/src/domain/dicom.ts), computed once
-- at upload so frame requests read their bytes without parsing the file again. NULL: indexed on first read.
ALTER TABLE imaging_instances ADD COLUMN pixels jsonb;

-- Down Migration
ALTER TABLE imaging_instances DROP COLUMN pixels;
