DROP TABLE domain_media_rejections;
