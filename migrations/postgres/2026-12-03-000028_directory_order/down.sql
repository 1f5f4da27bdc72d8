DROP INDEX accounts_directory_active;
