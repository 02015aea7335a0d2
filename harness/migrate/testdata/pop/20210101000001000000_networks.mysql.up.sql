CREATE TABLE networks (id char(36) NOT NULL, created_at datetime NOT NULL, PRIMARY KEY(id)) ENGINE=InnoDB;
